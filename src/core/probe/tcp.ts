/** TCP probe: the address accepts a connection on the port. Nothing is sent. */
import { connect } from 'node:net';
import type { ProbeFn, ProbeOutcome } from './types.ts';
import { abortable } from './util.ts';

/** Connects to `address:port`; ok once connected, then closes the socket at once. */
export const probeTcp: ProbeFn = (address, spec, signal) =>
  abortable<ProbeOutcome>(signal, ({ resolve, reject }) => {
    const socket = connect({ host: address, port: spec.port });
    socket.once('connect', () => resolve({ ok: true }));
    socket.on('error', reject);
    return () => socket.destroy();
  });
