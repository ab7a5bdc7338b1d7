// "Are you sure?" for the console's actions that cannot be taken back (a restock adds stock for
// good; a resolved refund leaves the list of work to do): a modal <dialog> that says what will
// happen and answers true only for its confirm button. The dialog keeps the focus inside while
// open and gives it back to the button that opened it.

import { $, button, fill } from "./dom.js";

/**
 * @param {object} question
 * @param {string} question.title
 * @param {string} question.body what will happen
 * @param {string} question.confirm the confirm button's words ("Add 6 units")
 * @returns {Promise<boolean>}
 */
export function confirmAction({ title, body, confirm }) {
  const dialog = /** @type {HTMLDialogElement} */ ($("#confirm"));
  const opener = document.activeElement;
  $("#confirm-title").textContent = title;
  fill($("#confirm-body"), body);
  const yes = button("#confirm-yes");
  yes.textContent = confirm;
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        if (opener instanceof HTMLElement) opener.focus();
        resolve(dialog.returnValue === "yes");
      },
      { once: true },
    );
    dialog.returnValue = "";
    dialog.showModal();
    button("#confirm-no").focus();
  });
}
