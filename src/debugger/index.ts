export { type Asset, loadUiAssets, provideUiAssets, type UiAssets } from "./assets.ts";
export { buildUi, type UiFiles } from "./bundle.ts";
export { type DebuggerOptions, mountDebugger } from "./mount.ts";
