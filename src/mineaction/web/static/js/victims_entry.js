// Victims typed within a new accident's form (issue 21, 3): "Add victim" clones the
// server-rendered template (the victim form's fields); the values go to the server with
// the accident (POST /web/api/accident-entry), whose errors name a victim by its number.
import { t } from "./common.js";

export function attachVictims(section) {
  const list = section.querySelector("#victim-list");
  const template = section.querySelector("#victim-template");
  const addBtn = section.querySelector("#add-victim");

  function renumber() {
    [...list.children].forEach((li, i) => {
      const n = i + 1;
      li.dataset.victim = String(n);
      li.querySelector(".victim-number").textContent = String(n);
      li.querySelector(".remove-victim").setAttribute("aria-label", t("Remove victim {n}", { n }));
      for (const input of li.querySelectorAll("[data-name]")) {
        const id = `v${n}-${input.dataset.name}`;
        input.id = id;
        input.setAttribute("aria-describedby", `${id}-err`);
        li.querySelector(`label[data-for="${input.dataset.name}"]`).htmlFor = id;
        li.querySelector(`[data-error-for="${input.dataset.name}"]`).id = `${id}-err`;
      }
    });
  }

  function add() {
    const li = template.content.firstElementChild.cloneNode(true);
    li.querySelector(".remove-victim").addEventListener("click", () => { li.remove(); renumber(); addBtn.focus(); });
    list.append(li);
    renumber();
    li.querySelector("[data-name]").focus();
  }
  addBtn.addEventListener("click", add);

  return {
    // Each victim's typed values; an empty box is left out (the model's default applies).
    values() {
      return [...list.children].map((li) => {
        const v = {};
        for (const input of li.querySelectorAll("[data-name]")) {
          const raw = input.value.trim();
          if (raw === "") continue;
          const w = input.dataset.vwidget;
          v[input.dataset.name] = w === "integer" ? parseInt(raw, 10) : w === "number" ? parseFloat(raw) : raw;
        }
        return v;
      });
    },
    clearErrors() {
      section.querySelector("#err-victims").textContent = "";
      for (const e of list.querySelectorAll("[data-error-for]")) e.textContent = "";
      for (const i of list.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
    },
    // An error of `victims.<n>.<field>` shown at its box; true when shown there.
    mark(fe) {
      const [, n, name] = fe.field.split(".");
      const li = list.querySelector(`[data-victim="${n}"]`);
      const slot = li?.querySelector(`[data-error-for="${name}"]`);
      if (!slot) {
        section.querySelector("#err-victims").textContent = fe.message;
        return true;
      }
      slot.textContent = fe.message;
      li.querySelector(`[data-name="${name}"]`)?.setAttribute("aria-invalid", "true");
      return true;
    },
    firstInvalid() { return list.querySelector("[aria-invalid]"); },
  };
}
