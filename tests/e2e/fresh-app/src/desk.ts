// A frontend's first session against the gateway, written only against the published
// @desk/sdk: a login, a typed query, a form checked with the SDK's schemas, and a live
// subscription. The browser entry (main.ts) and the Node entry (node.ts) both run it.
import { closeGatewayClient, createGatewayClient, login, type RouterOutputs, toGatewayError } from "@desk/sdk";
import { ExecuteInstructionsInput } from "@desk/sdk/schemas";

type Position = RouterOutputs["account"]["positions"][number];

export async function deskSession(url: string, report: (line: string) => void): Promise<void> {
  const { token } = await login(url, "trader1", "trader123");
  const gateway = createGatewayClient({ url, getToken: () => token });
  try {
    const accounts = await gateway.account.list.query();
    const first = accounts[0]?.id ?? "account1";
    const positions: Position[] = await gateway.account.positions.query({ accountId: first });
    report(`accounts ${accounts.length}, positions of ${first}: ${positions.length}`);

    const emptyOrder = ExecuteInstructionsInput.safeParse({ instructions: [], accounts: [first] });
    report(`form check: an order without instructions is ${emptyOrder.success ? "accepted" : "rejected"}`);

    const tick = await new Promise<{ id: string; symbol: string; last: number }>((resolve, reject) => {
      const subscription = gateway.market.onTick.subscribe(
        { symbols: ["510500"] },
        {
          // Typed from the router: the event id to resume from, and the tick itself.
          onData: ({ id, data }) => {
            subscription.unsubscribe();
            resolve({ id, symbol: data.symbol, last: data.last });
          },
          onError: (err) => reject(toGatewayError(err)),
        },
      );
    });
    report(`tick ${tick.symbol} ${tick.last}`);
  } finally {
    await closeGatewayClient(gateway);
  }
}
