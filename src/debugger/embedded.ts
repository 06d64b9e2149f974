/**
 * The debugger UI inside the compiled binary: the prebuilt bundle (dist/ui/, written by
 * scripts/build-ui.ts before `bun build --compile`) embedded as files. The binary's entry
 * (src/embedded/main.ts) imports this module; from source nothing does, and the UI is bundled
 * from ui/ in memory.
 */
import css from "../../dist/ui/app.css" with { type: "file" };
import js from "../../dist/ui/app.js" with { type: "file" };
import html from "../../dist/ui/index.html" with { type: "file" };
import { provideUiAssets } from "./assets.ts";

provideUiAssets({ html, js, css });
