/**
 * Text from the outside world (a probed server's certificate name or `Server` header, a config
 * file's unknown keys, a state file) made safe to print: control characters (C0 but newline and
 * tab, DEL, C1) become visible `\xNN` escapes, so nothing a target sends can move the cursor,
 * recolour, retitle or rewrite the terminal of the person reading it.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` with every control character but newline and tab shown as `\xNN`. */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
