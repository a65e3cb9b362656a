import { AnchorTracker } from '../audit/anchors.js';
import { type ChainVerification, verifyChain } from '../audit/hash-chain.js';
import type { DeploymentPointer } from '../domain/model.js';
import type { RegistryStore } from '../stores/registry.store.js';

const LISTED_PROBLEMS = 5;

/**
 * Recomputes the audit chain, then checks the rows that grant access or route traffic (API
 * tokens, deployment pointers) against it: each must name the last event that changed it, and
 * that event must say what the row says.
 */
export async function verifyRegistryAudit(store: RegistryStore): Promise<ChainVerification> {
  const head = (await store.listAuditEvents({ modelName: null, actor: null, action: null, since: null, until: null }, { first: 1, after: null }))
    .items[0]?.node.sequence ?? 0;
  const pointers: DeploymentPointer[] = [];
  for await (const p of store.allPointers()) pointers.push(p);
  const tokens = await store.listApiTokens();
  const anchors = new AnchorTracker(head);
  const chain = await verifyChain(store.auditEventsAscending(), (e) => anchors.observe(e));
  if (!chain.valid) return chain;
  const problems = anchors.check(pointers, tokens);
  if (problems.length === 0) return chain;
  const sequences = problems.map((p) => p.sequence).filter((s): s is number => s !== null);
  const listed = problems.slice(0, LISTED_PROBLEMS).map((p) => p.message).join('; ');
  const more = problems.length > LISTED_PROBLEMS ? `; and ${problems.length - LISTED_PROBLEMS} more` : '';
  return {
    ...chain,
    valid: false,
    firstInvalidSequence: sequences.length > 0 ? Math.min(...sequences) : null,
    message: `the chain is intact, but ${problems.length} registry row(s) do not match it: ${listed}${more}`,
  };
}
