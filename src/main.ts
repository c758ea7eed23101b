import { runServer } from "./cli/serve.js";

/** Process entry point of the server (the container's command); `pos-ingest serve` is the same. */
await runServer();
