// Pick lists for linked records (a hazard's organisation, an accident's hazard, a
// victim's accident...): type part of a name, place, pcode or id and choose from the
// records you may see (/web/api/pick/<kind>?q=), instead of typing an id (#4).
// An ARIA 1.2 combobox: arrows move through the options, Enter chooses, Escape closes;
// the visible box searches, the hidden input beside it holds the id the form sends.
// With data-multiple (a record's sources) each choice is added to a list of chips, each
// with a button that unlinks it, and the hidden input holds their ids, comma-separated.
import { el, t } from "./common.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class Picklist {
  constructor(box) {
    this.kind = box.dataset.kind;
    this.input = box.querySelector('[role="combobox"]');
    this.hidden = box.querySelector('input[type="hidden"]');
    this.list = box.querySelector('[role="listbox"]');
    this.multiple = box.dataset.multiple === "true";
    this.chips = box.querySelector(".chips");
    this.items = [];
    this.active = -1;
    this.seq = 0;
    this.timer = null;
    this.input.addEventListener("input", () => {
      // Typing drops the previous choice; an id pasted whole is taken as it is.
      const text = this.input.value.trim();
      if (!this.multiple) this.hidden.value = UUID.test(text) ? text : "";
      clearTimeout(this.timer);
      // An emptied box unlinks the record and opens no list over the form (ArrowDown
      // still lists the most recent records).
      if (!text) { this.close(); return; }
      this.timer = setTimeout(() => this.search(), 150);
    });
    this.input.addEventListener("keydown", (e) => this.key(e));
    this.input.addEventListener("blur", () => setTimeout(() => this.close(), 100));
    // Keep the focus in the box while an option is clicked.
    this.list.addEventListener("mousedown", (e) => e.preventDefault());
    this.list.addEventListener("click", (e) => {
      const li = e.target.closest("li[data-index]");
      if (li) this.choose(Number(li.dataset.index));
    });
    if (this.chips) {
      this.chips.addEventListener("click", (e) => {
        const button = e.target.closest(".chip-remove");
        if (!button) return;
        button.closest("li").remove();
        this.syncChips();
        this.input.focus();
      });
    }
  }

  chipIds() {
    return [...this.chips.querySelectorAll("li[data-id]")].map((li) => li.dataset.id);
  }

  syncChips() {
    this.hidden.value = this.chipIds().join(", ");
  }

  async search() {
    const seq = ++this.seq;
    const q = encodeURIComponent(this.input.value.trim());
    const res = await fetch(`/web/api/pick/${this.kind}?q=${q}`, { credentials: "same-origin" });
    if (!res.ok || seq !== this.seq) return;
    this.items = await res.json();
    this.active = -1;
    this.render();
  }

  render() {
    const options = this.items.map((it, i) => el("li", {
      role: "option", id: `${this.input.id}-opt-${i}`, "data-index": String(i),
      "aria-selected": i === this.active ? "true" : "false", text: it.text,
    }));
    if (!options.length) options.push(el("li", { class: "none", "aria-disabled": "true", text: t("No match.") }));
    this.list.replaceChildren(...options);
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    if (this.active >= 0) {
      this.input.setAttribute("aria-activedescendant", `${this.input.id}-opt-${this.active}`);
      this.list.children[this.active].scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  }

  key(e) {
    const open = !this.list.hidden;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!open) { this.search(); return; }
      const n = this.items.length;
      if (!n) return;
      this.active = e.key === "ArrowDown" ? (this.active + 1) % n : (this.active - 1 + n) % n;
      this.render();
    } else if (e.key === "Enter" && open && this.active >= 0) {
      e.preventDefault();  // choose, do not submit the form
      this.choose(this.active);
    } else if (e.key === "Escape" && open) {
      e.preventDefault();
      this.close();
    }
  }

  choose(i) {
    const it = this.items[i];
    if (!it) return;
    if (this.multiple) {
      if (!this.chipIds().includes(it.id)) {
        this.chips.append(el("li", { "data-id": it.id }, el("span", { text: it.text }), " ",
          el("button", { type: "button", class: "chip-remove", "aria-label": t("Unlink source {text}", { text: it.text }), text: "×" })));
        this.syncChips();
      }
      this.input.value = "";
    } else {
      this.hidden.value = it.id;
      this.input.value = it.text;
    }
    this.close();
  }

  close() {
    this.seq++;  // an answer still on its way is not shown
    this.list.hidden = true;
    this.active = -1;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }
}

export function attachPicklists(root) {
  for (const box of root.querySelectorAll(".picklist")) new Picklist(box);
}
