// Must NOT compile: the SDK's types reject a wrong input to a query and to a subscription.
import { createGatewayClient } from "@desk/sdk";

const gateway = createGatewayClient({ url: "http://localhost:3001" });
// accountId is a string.
await gateway.account.positions.query({ accountId: 42 });
// symbols is a list of contract codes.
gateway.market.onTick.subscribe({ symbols: "510500" }, { onData: () => {} });
