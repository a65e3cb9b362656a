import type { CommandStartedEvent, MongoClient } from 'mongodb';

/** Commands that are not the store's own data commands: handshakes, monitoring, session and cursor housekeeping. */
const EXEMPT = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'getMore', 'killCursors', 'saslStart', 'saslContinue', 'buildInfo', 'dropDatabase']);

/**
 * Watches the commands a real MongoClient sends (driver command monitoring, `monitorCommands: true`)
 * and keeps every data command that goes out without `maxTimeMS` (issue 9 item 17). Used against
 * the server in MONGODB_URI only.
 */
export class CommandMonitor {
  readonly seen: string[] = [];
  readonly unbounded: string[] = [];
  /** Every find: its collection and read concern level. */
  readonly finds: { collection: string; readConcern: string | null }[] = [];
  private readonly watched = new WeakSet<MongoClient>();

  watch(client: MongoClient): void {
    if (this.watched.has(client)) return;
    this.watched.add(client);
    client.on('commandStarted', (e: CommandStartedEvent) => {
      if (EXEMPT.has(e.commandName)) return;
      this.seen.push(e.commandName);
      if (e.commandName === 'find') {
        const rc = e.command.readConcern as { level?: string } | undefined;
        this.finds.push({ collection: String(e.command.find), readConcern: rc?.level ?? null });
      }
      if (typeof e.command.maxTimeMS !== 'number' || e.command.maxTimeMS <= 0) this.unbounded.push(`${e.commandName} ${JSON.stringify(e.command).slice(0, 200)}`);
    });
  }
}
