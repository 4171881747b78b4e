/**
 * Rows as a plain-text table: a header, a rule, and left-aligned columns two spaces apart. Widths
 * count code points, so `…` and accented names line up.
 *
 * @example
 * ```ts
 * textTable(['ID', 'USER'], [['1234567890', 'ana@zylker.com']]);
 * // 'ID          USER\n──────────  ──────────────\n1234567890  ana@zylker.com\n'
 * ```
 */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const width = (text: string) => [...text].length;
  const cells = rows.map((row) => row.map(printable));
  const widths = headers.map((header, column) =>
    Math.max(width(header), ...cells.map((row) => width(row[column] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell + ' '.repeat((widths[column] as number) - width(cell)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), line(widths.map((w) => '─'.repeat(w))), ...cells.map(line)].join('\n')}\n`;
}

/**
 * Text safe to print in a terminal: control characters (a newline in a user name, an escape
 * sequence) shown as `\n`, `\u001b`, so a stored value can neither break a table nor drive the terminal.
 *
 * @example
 * ```ts
 * printable('ana\n@zylker.com'); // 'ana\\n@zylker.com'
 * ```
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, escapeChar);
}

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(char: string): string {
  return NAMED[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * A count with its noun: `1 token`, `3 tokens`, `100,000 tokens`.
 *
 * @example
 * ```ts
 * plural(3, 'token'); // '3 tokens'
 * ```
 */
export function plural(count: number, noun: string): string {
  return `${count.toLocaleString('en-US')} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * ` (user@host)` to follow a token id, or nothing for a token without a user.
 *
 * @example
 * ```ts
 * `token ${id}${userSuffix(token.getUserSignature()?.getName())}`; // 'token 1234567890 (ana@zylker.com)'
 * ```
 */
export function userSuffix(name: string | null | undefined): string {
  return name ? ` (${printable(name)})` : '';
}
