/**
 * `exec`: a command (no shell) given each notice as JSON on stdin, and its facts in IPDRIFT_*
 * variables; exit 0 means delivered. Bounded: SIGTERM at `timeoutMs`, SIGKILL shortly after.
 */
import { spawn } from 'node:child_process';
import type { NotifyConfig } from '../../../core/config.ts';
import { formatNotice } from '../../../core/notice.ts';
import { noticeDocument } from './payload.ts';
import { DeliveryError, destinationOf, hears, stoppedBecause } from './types.ts';
import type { Delivery, Sink } from './types.ts';

type ExecConfig = Extract<NotifyConfig, { type: 'exec' }>;

/** How long a command has to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 2000;
/** How long after the command exits its stderr may still be read (a child it left may hold the pipe). */
const STDERR_DRAIN_MS = 200;
/** Bytes of the command's stderr kept for the error line. */
const STDERR_KEPT_BYTES = 2048;

/** An exec sink. */
export function execSink(cfg: ExecConfig, name: string): Sink {
  const [program, ...args] = cfg.command as [string, ...string[]];
  return {
    name,
    destination: destinationOf('exec', program),
    wants: (t) => hears(cfg.audience, t),
    deliver: (d: Delivery, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        const t = d.transition;
        const child = spawn(program, args, {
          stdio: ['pipe', 'ignore', 'pipe'],
          // A process group of its own: the kill reaches what the command started too (`sh -c "x &"`).
          detached: true,
          env: {
            ...process.env,
            IPDRIFT_DELIVERY: d.id,
            IPDRIFT_TRANSITION: t.type,
            IPDRIFT_KEY: t.key,
            IPDRIFT_TARGET: t.target,
            IPDRIFT_KIND: t.kind,
            IPDRIFT_SEVERITY: t.severity,
            IPDRIFT_SUBJECT: formatNotice(t).subject,
          },
        });
        let stderr = '';
        let why: string | undefined;
        const killGroup = (sig: NodeJS.Signals) => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, sig);
          } catch {
            // Gone already.
          }
        };
        const stop = (reason: string) => {
          why ??= reason;
          killGroup('SIGTERM');
          setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
        };
        const timer = setTimeout(() => stop(`did not exit within ${cfg.timeoutMs} ms`), cfg.timeoutMs);
        const onAbort = () => stop(`stopped: ${stoppedBecause(signal)}`);
        signal.addEventListener('abort', onAbort, { once: true });
        child.stderr.on('data', (chunk: Buffer) => {
          if (stderr.length < STDERR_KEPT_BYTES) stderr += chunk.toString('utf8').slice(0, STDERR_KEPT_BYTES - stderr.length);
        });
        // A command that does not read its stdin closes the pipe: not a failure of the notice.
        child.stdin.on('error', () => undefined);
        child.stdin.end(JSON.stringify(noticeDocument(d)));
        let settled = false;
        const done = (err?: DeliveryError) => {
          // A spawn that fails emits "error" and may still emit "close".
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          // A process the command left behind may hold the pipes: let go of them, so it cannot keep `check` from exiting.
          child.stderr.destroy();
          child.stdin.destroy();
          child.unref();
          signal.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve();
        };
        child.on('error', (err) => done(new DeliveryError(`${program}: ${err.message}`, false, { cause: err })));
        const settle = (code: number | null, sig: NodeJS.Signals | null) => {
          if (code === 0 && why === undefined) return done();
          const said = stderr.replace(/\s+/g, ' ').trim();
          const how = why ?? (sig ? `killed by ${sig}` : `exit ${code}`);
          done(new DeliveryError(`${program}: ${how}${said ? ` (${said})` : ''}`, false));
        };
        // "close" (stderr read to its end) normally; but a process the command left behind may
        // hold stderr open for ever, so "exit" settles it shortly after.
        child.on('close', settle);
        child.on('exit', (code, sig) => setTimeout(() => settle(code, sig), STDERR_DRAIN_MS));
      }),
  };
}
