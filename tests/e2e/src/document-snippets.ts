// The source document's "WebSocket Events" snippets (seeds/000_0f01c3e774b0682e.txt),
// character for character: biome leaves these functions unformatted. Each runs one
// snippet on the socket the app made; the execution snippet also takes the
// `parsedInstructions` it names (and the dry-run test passes `true` for its `dryRun`).
import type { Socket } from "socket.io-client";

// biome-ignore format: verbatim from the source document
export function accountUpdatesSnippet(socket: Socket) {
// Subscribe
socket.emit('account:subscribe', { accountIds: ['account1'] });

// Receive updates
socket.on('account:update', (update) => {
  console.log('Account updated:', update);
});
}

// biome-ignore format: verbatim from the source document
export function algorithmProgressSnippet(socket: Socket) {
// Subscribe
socket.emit('algorithm:subscribe', { algorithmIds: ['algo1'] });

// Receive updates
socket.on('algorithm:update', (update) => {
  console.log('Algorithm progress:', update);
});
}

// biome-ignore format: verbatim from the source document
export function instructionExecutionSnippet(socket: Socket, parsedInstructions: unknown[]) {
// Execute with real-time updates
socket.emit('instruction:execute', {
  instructions: parsedInstructions,
  accounts: ['account1'],
  dryRun: false
});

// Receive execution updates
socket.on('instruction:execution:update', (update) => {
  console.log('Execution update:', update);
});
}

// biome-ignore format: the document's execution snippet with dryRun: true, otherwise verbatim
export function dryRunExecutionSnippet(socket: Socket, parsedInstructions: unknown[]) {
// Execute with real-time updates
socket.emit('instruction:execute', {
  instructions: parsedInstructions,
  accounts: ['account1'],
  dryRun: true
});

// Receive execution updates
socket.on('instruction:execution:update', (update) => {
  console.log('Execution update:', update);
});
}
