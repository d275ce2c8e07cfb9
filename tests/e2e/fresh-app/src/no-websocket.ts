// Node 20 without the optional `ws` package: subscriptions cannot connect, and the
// connection state says why (rather than a bare "Initialization error").
import { closeGatewayClient, createGatewayClient } from "@desk/sdk";

const gateway = createGatewayClient({
  url: "http://127.0.0.1:9",
  onConnectionState: ({ error }) => {
    if (!error) return;
    console.log(error.message);
    subscription.unsubscribe();
    void closeGatewayClient(gateway);
  },
});
const subscription = gateway.market.onTick.subscribe({ symbols: ["510500"] }, { onData: () => {} });
