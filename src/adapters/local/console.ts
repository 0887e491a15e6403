/** Console output: findings as a table (colour on a TTY) and a notifier that prints transitions. */
import type { Notifier } from '../../core/ports.ts';
import type { AlertTransition, Finding, Severity } from '../../core/types.ts';
import { printable } from './printable.ts';

const COLOURS = { info: '\x1b[36m', warning: '\x1b[33m', critical: '\x1b[31m', dim: '\x1b[2m', bold: '\x1b[1m', reset: '\x1b[0m' } as const;

/** Paints text when colour is on. */
export function painter(colour: boolean) {
  return (code: keyof typeof COLOURS, text: string) => (colour ? `${COLOURS[code]}${text}${COLOURS.reset}` : text);
}

const SEVERITY_LABEL: Record<Severity, string> = { info: 'INFO', warning: 'WARN', critical: 'CRIT' };

/** Findings as aligned rows: severity, target, kind, summary; advice under warnings and criticals. */
export function formatFindings(findings: readonly Finding[], colour: boolean): string {
  if (findings.length === 0) return 'no findings';
  const paint = painter(colour);
  const width = (get: (f: Finding) => string) => Math.max(...findings.map((f) => get(f).length));
  const wt = width((f) => f.target);
  const wk = width((f) => f.kind);
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${paint(f.severity, SEVERITY_LABEL[f.severity])}  ${f.target.padEnd(wt)}  ${f.kind.padEnd(wk)}  ${printable(f.summary)}`);
    if (f.severity !== 'info') lines.push(paint('dim', `      advice: ${printable(f.advice)}`));
  }
  return lines.join('\n');
}

/** One line for an alert transition. */
export function formatTransition(t: AlertTransition, colour: boolean): string {
  const paint = painter(colour);
  const label = { opened: 'OPENED  ', updated: 'UPDATED ', reminder: 'REMINDER', resolved: 'RESOLVED', event: 'EVENT   ' }[t.type];
  // A resolved notice says so first: its last failure, alone, would read at 3 a.m. as a new one.
  const text = t.was === undefined ? t.summary : `${t.summary} (was: ${t.was})`;
  return `${paint(t.type === 'resolved' ? 'dim' : t.severity, label)} [${t.severity.toUpperCase()}] ${printable(text)}`;
}

/** Notifier that hands each transition to a writer (stdout, a list in tests). Never fails. */
export class ConsoleNotifier implements Notifier {
  constructor(private readonly write: (t: AlertTransition) => void) {}
  async notify(t: AlertTransition): Promise<void> {
    this.write(t);
  }
}
