/** Inline SVG icons (no icon font, no network; every glyph renders whatever fonts the system has). */
import { html } from "htm/preact";

const svg = (path: string) => () =>
  html`<svg class="icon" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false"><path d=${path} fill="currentColor" /></svg>`;

export const FirstIcon = svg("M3 2h2v12H3zM14 2v12L6 8z");
export const PrevIcon = svg("M12 2v12L4 8z");
export const NextIcon = svg("M4 2v12l8-6z");
export const LastIcon = svg("M11 2h2v12h-2zM2 2v12l8-6z");

/** The Kronos mark: an hourglass. */
export function Logo() {
  return html`<svg class="logo" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
    <path d="M6 2h12v2h-1v3.2a5 5 0 0 1-2.3 4.2L13.6 12l1.1.6A5 5 0 0 1 17 16.8V20h1v2H6v-2h1v-3.2a5 5 0 0 1 2.3-4.2l1.1-.6-1.1-.6A5 5 0 0 1 7 7.2V4H6zm3 2v3.2a3 3 0 0 0 1.4 2.5L12 10.8l1.6-1.1A3 3 0 0 0 15 7.2V4zm3 9.2-1.6 1.1A3 3 0 0 0 9 16.8V20h6v-3.2a3 3 0 0 0-1.4-2.5z" fill="currentColor" />
  </svg>`;
}
