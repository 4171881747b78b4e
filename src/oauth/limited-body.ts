/**
 * The body of `response` as UTF-8 text, or null once it grows past `maxBytes`: reading stops there
 * and the rest is discarded, so a hostile or broken server cannot fill memory. A `Content-Length`
 * over the limit is refused before reading.
 *
 * @example
 * ```ts
 * const text = await readTextWithin(await fetch(url), 1024 * 1024);
 * if (text === null) throw new Error('answer too large');
 * ```
 */
export async function readTextWithin(response: Response, maxBytes: number): Promise<string | null> {
  const body = response.body;
  if (body === null) return '';
  const reader = body.getReader();
  const tooLarge = async () => {
    await reader.cancel().catch(() => undefined);
    return null;
  };
  if (Number(response.headers.get('content-length')) > maxBytes) return tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) return tooLarge();
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}
