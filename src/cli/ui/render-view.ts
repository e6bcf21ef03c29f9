// Mounting an Ink view on a command's streams, the same way for every command: Ctrl-C and the
// console are left to the command (it stops through io.signal and never prints through console).
import { render, type Instance } from 'ink';
import type { ReactElement } from 'react';
import type { CliIO } from '../io.ts';

export function renderView(node: ReactElement, io: CliIO, options: { interactive?: boolean } = {}): Instance {
  return render(node, {
    stdout: io.stdout as unknown as NodeJS.WriteStream,
    stderr: io.stderr as unknown as NodeJS.WriteStream,
    ...(io.stdin ? { stdin: io.stdin as NodeJS.ReadStream } : {}),
    exitOnCtrlC: false,
    patchConsole: false,
    ...options,
  });
}
