#!/usr/bin/env node
import { CommanderError } from 'commander';
import { EXIT, describeError, exitCodeOf } from './exit-codes.js';
import { buildProgram } from './program.js';

/** The `model-registry` executable: runs the program and turns every failure into a message and an exit code. */
async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    // A command that found something wrong without failing (audit verify) set the exit code itself.
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end with exitCode 0; anything else commander refuses is a usage error.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    const { code, message } = describeError(err);
    const json = argv.includes('--json');
    process.stderr.write(json ? `${JSON.stringify({ error: { code, message } })}\n` : `error: ${message} (${code})\n`);
    return exitCodeOf(err);
  }
}

// A reader that stops early (`model-registry versions m | head`) closes the pipe: stop quietly, as
// Unix tools do, instead of a stack trace for EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(EXIT.OK);
});

main(process.argv).then((code) => {
  process.exitCode = code;
});
