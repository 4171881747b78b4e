/** What {@link untrustedFileReason} reads of a file or folder: its `fs.Stats`, plain or bigint. */
export interface FileOwnership {
  uid: number | bigint;
  mode: number | bigint;
}

/**
 * Why a file that holds tokens or keys must not be read, or null when it may be: another user owns
 * it (they may have planted it), or group or others may write it. A file root owns is trusted: no
 * lesser user can plant one. Always null where files have no Unix owner (Windows).
 *
 * @param euid The user the file must belong to; default: this process's effective user.
 * @example
 * ```ts
 * const reason = untrustedFileReason(statSync(file), file);
 * if (reason) throw new Error(`${file} was not read: ${reason}`);
 * ```
 */
export function untrustedFileReason(
  info: FileOwnership,
  file: string,
  euid: number | undefined = process.geteuid?.(),
): string | null {
  if (euid === undefined) return null;
  const uid = Number(info.uid);
  if (uid !== euid && uid !== 0) {
    return (
      `it is owned by uid ${uid}, not by this user (uid ${euid}) or root, so another user may have put it there: ` +
      `check it, then run chown ${euid} ${file}`
    );
  }
  const mode = Number(info.mode) & 0o7777;
  if ((mode & 0o022) !== 0) {
    return `group or others may write it (mode ${mode.toString(8).padStart(4, '0')}): check it, then run chmod 600 ${file}`;
  }
  return null;
}
