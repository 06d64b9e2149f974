/**
 * Entry of the debugger UI bundle (src/debugger/bundle.ts builds it with Bun). A deep link's run
 * is requested first (./early.ts); the app itself (./start.ts) is evaluated meanwhile.
 */
import { startEarlyRequests } from "./early.ts";

performance.mark("kronos:boot");
startEarlyRequests();
await import("./start.ts");
