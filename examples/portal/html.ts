/** Markup that is already safe to send: made by {@link html}, never from a raw string. */
export class SafeHtml {
  readonly #markup: string;

  constructor(markup: string) {
    this.#markup = markup;
  }

  toString(): string {
    return this.#markup;
  }
}

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @example
 * ```ts
 * escapeHtml('<b>"Ana" & co</b>'); // '&lt;b&gt;&quot;Ana&quot; &amp; co&lt;/b&gt;'
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] as string);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.toString();
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * A template tag that escapes every interpolated value, so a page cannot forget to: only other
 * `html` fragments (and arrays of them) go in as markup. `null`, `undefined` and `false` render
 * as nothing, which keeps conditional parts short.
 *
 * @example
 * ```ts
 * const row = (name: string) => html`<li>${name}</li>`;
 * String(html`<ul>${['<Ana>', 'Ben'].map(row)}</ul>`); // '<ul><li>&lt;Ana&gt;</li><li>Ben</li></ul>'
 * ```
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let markup = strings[0] ?? '';
  for (const [index, value] of values.entries()) markup += render(value) + (strings[index + 1] ?? '');
  return new SafeHtml(markup);
}
