// API keys: list, create (secret shown once), revoke.
import { useState } from "preact/hooks";
import { Permission } from "../../../gen/wagateway/v1/api_key_pb.js";
import { useConsole } from "../context.js";
import { when } from "../format.js";
import { ConfirmButton, ErrorBox, SecretOnce, Status, useAction, useLoad } from "../ui.js";

/** The API keys page. */
export function ApiKeysPage() {
  const { api, readOnly } = useConsole();
  const keys = useLoad(async () => (readOnly ? [] : (await api.keys.listApiKeys({})).apiKeys), [api, readOnly]);
  const [name, setName] = useState("");
  const [manage, setManage] = useState(true);
  const [secret, setSecret] = useState<string | undefined>();
  const [run, error, busy] = useAction();
  if (readOnly) {
    return (
      <section aria-labelledby="keys-h">
        <h2 id="keys-h">API keys</h2>
        <p class="notice">This key can only read: API keys need the manage permission.</p>
      </section>
    );
  }
  const rows = keys.data ?? [];
  return (
    <section aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      {secret && <SecretOnce secret={secret} what="new API key" onDone={() => setSecret(undefined)} />}
      <form
        class="grid"
        aria-label="New API key"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const r = await api.keys.createApiKey({ name: name.trim(), permissions: manage ? [Permission.MANAGE, Permission.READ] : [Permission.READ] });
            setSecret(r.secret);
            setName("");
            keys.reload();
          });
        }}
      >
        <label>
          Name
          <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label class="check">
          <input type="checkbox" checked={manage} onChange={(e) => setManage(e.currentTarget.checked)} />
          May manage (otherwise read only)
        </label>
        <button class="primary" type="submit" disabled={busy}>Create key</button>
      </form>
      <ErrorBox error={error} />
      <Status loaded={keys} empty="No API keys." isEmpty={rows.length === 0}>
        <div class="table-wrap">
          <table class="stack">
            <caption class="visually-hidden">API keys of this organization</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Permissions</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((k) => (
                <tr key={k.id} data-key={k.id}>
                  <td data-label="Name">{k.name || "(no name)"}</td>
                  <td data-label="Prefix"><code>{k.prefix}…</code></td>
                  <td data-label="Permissions">{k.permissions.map((p) => (Permission[p] ?? "").toLowerCase()).join(", ")}</td>
                  <td data-label="Created">{when(k.createdAt)}</td>
                  <td data-label="Last used">{when(k.lastUsedAt)}</td>
                  <td data-label="Actions">
                    {k.revokedAt ? (
                      <span class="badge bad">revoked {when(k.revokedAt)}</span>
                    ) : (
                      <ConfirmButton label="Revoke" question="Revoke this key? Clients using it stop working." onConfirm={() => run(async () => { await api.keys.revokeApiKey({ key: k.id }); keys.reload(); })} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Status>
    </section>
  );
}
