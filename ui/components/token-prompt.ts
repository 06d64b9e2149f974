/** Asks for the API token when the server wants one (KRONOS_API_TOKEN is set). */
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { auth, useAuth } from "../auth.ts";

export function TokenPrompt() {
  const { refused } = useAuth();
  const dialog = useRef<HTMLDialogElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const [remember, setRemember] = useState(false);
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
    input.current?.focus();
  }, []);
  const submit = (e: Event) => {
    e.preventDefault();
    const value = input.current?.value.trim() ?? "";
    if (value) auth.set(value, remember);
  };
  return html`<dialog ref=${dialog} class="token-dialog" aria-labelledby="token-title" onCancel=${(e: Event) => e.preventDefault()}>
    <form onSubmit=${submit}>
      <h2 id="token-title">API token needed</h2>
      <p>
        This Kronos server has <code>KRONOS_API_TOKEN</code> set. Enter the token to use the debugger; it is sent
        as an <code>Authorization</code> header with every request.
      </p>
      ${refused && html`<p class="error-text" role="alert">The server refused that token. Check it and try again.</p>`}
      <label class="field">
        <span>Token</span>
        <input ref=${input} type="password" name="token" autocomplete="current-password" required />
      </label>
      <label class="check">
        <input type="checkbox" checked=${remember} onChange=${(e: Event) => setRemember((e.target as HTMLInputElement).checked)} />
        Remember on this device (otherwise only until this tab closes)
      </label>
      <div class="actions"><button type="submit" class="btn btn-primary">Continue</button></div>
    </form>
  </dialog>`;
}
