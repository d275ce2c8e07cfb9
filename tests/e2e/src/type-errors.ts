// Compile-time contract checks: `pnpm --filter @desk/e2e typecheck` FAILS if any line
// marked @ts-expect-error stops being an error, i.e. if the SDK's types stop catching
// a wrong procedure name or a wrong input shape. Never executed.
import type { GatewayClient } from "@desk/sdk";

export async function typeErrors(client: GatewayClient): Promise<void> {
  // @ts-expect-error: there is no such procedure
  await client.account.listEverything.query();

  // @ts-expect-error: accountId must be a string
  await client.account.positions.query({ accountId: 42 });

  // @ts-expect-error: the input is { text, accounts }, not a bare string
  await client.instruction.parse.mutate("双卖 500 当月 万1 的v");

  // @ts-expect-error: a query is not a mutation
  await client.account.list.mutate();

  // Correct calls compile (so the file proves the client is typed, not `any`).
  const accounts = await client.account.list.query();
  const first: string | undefined = accounts[0]?.id;
  void first;
}
