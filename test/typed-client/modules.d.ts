// Vite's `?raw` imports (a file's text), for the Workers-pool tests that read committed files.
declare module "*?raw" {
  const text: string;
  export default text;
}
