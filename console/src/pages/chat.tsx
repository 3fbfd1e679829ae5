// Chat: a session's chats, a live thread, send text or a file with live delivery status.
import { fromJson, type JsonObject } from "@bufbuild/protobuf";
import { useEffect, useRef, useState } from "preact/hooks";
import { type Message, MessageDirection, MessageSchema, MessageStatus } from "../../../gen/wagateway/v1/message_pb.js";
import type { SendMessageRequest } from "../../../gen/wagateway/v1/message_service_pb.js";
import { useConsole, useEvents } from "../context.js";
import { messageWord, when } from "../format.js";
import { ErrorBox, Status, useAction, useLoad } from "../ui.js";

/** What a message says, in one line. */
function summary(m: Message): string {
  const c = m.content?.kind;
  if (!c?.case) return `[${m.type}]`;
  switch (c.case) {
    case "text":
      return c.value.body;
    case "image":
    case "video":
    case "audio":
    case "document":
      return `[${c.case}${c.value.filename ? ` ${c.value.filename}` : ""}]${c.value.caption ? ` ${c.value.caption}` : ""}`;
    case "location":
      return `[location] ${c.value.name ?? ""} ${c.value.latitude}, ${c.value.longitude}`;
    case "contact":
      return `[contact] ${c.value.displayName}`;
    case "reaction":
      return `[reaction] ${c.value.emoji}`;
    case "revoke":
      return "[deleted]";
  }
}

const statusWords = new Map(Object.entries(MessageStatus).filter(([, v]) => typeof v === "number").map(([k, v]) => [k.toLowerCase(), v as MessageStatus]));

function SessionPicker({ session }: { session?: string }) {
  const { api, readOnly } = useConsole();
  const list = useLoad(async () => (readOnly ? [] : (await api.sessions.listSessions({})).sessions), [api, readOnly]);
  const [typed, setTyped] = useState(session ?? "");
  if (readOnly) {
    return (
      <form class="grid" onSubmit={(e) => { e.preventDefault(); location.hash = `#/chat/${encodeURIComponent(typed.trim())}`; }}>
        <label>
          Session id
          <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} />
        </label>
        <button type="submit">Open</button>
      </form>
    );
  }
  return (
    <label>
      Session
      <select id="chat-session" value={session ?? ""} onChange={(e) => (location.hash = `#/chat/${encodeURIComponent(e.currentTarget.value)}`)}>
        <option value="">Choose a session…</option>
        {(list.data ?? []).map((s) => (
          <option key={s.id} value={s.id}>
            {s.label || s.id} {s.phoneNumber ? `(+${s.phoneNumber})` : ""}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The chat page of one session. */
export function ChatPage({ session }: { session?: string }) {
  const { api, readOnly } = useConsole();
  const [chat, setChat] = useState<string | undefined>();
  const [thread, setThread] = useState<Message[]>([]);
  const [text, setText] = useState("");
  const [newChat, setNewChat] = useState("");
  const file = useRef<HTMLInputElement>(null);
  const [run, error, busy] = useAction();
  const recent = useLoad(async () => (session ? (await api.messages.listMessages({ session, pageSize: 200 })).messages : []), [api, session]);
  const loadedThread = useLoad(async () => (session && chat ? (await api.messages.listMessages({ session, chat, pageSize: 100 })).messages.reverse() : []), [api, session, chat]);
  useEffect(() => setThread(loadedThread.data ?? []), [loadedThread.data]);
  useEffect(() => setChat(undefined), [session]);
  const endRef = useRef<HTMLLIElement>(null);
  useEffect(() => endRef.current?.scrollIntoView({ block: "nearest" }), [thread.length]);

  useEvents((ev) => {
    if (ev.sessionId !== session || !ev.data) return;
    const d = ev.data as Record<string, unknown>;
    if (ev.type === "message.received") {
      const m = fromJson(MessageSchema, ev.data as JsonObject, { ignoreUnknownFields: true });
      if (m.chatId === chat) setThread((t) => (t.some((x) => x.id === m.id) ? t : [...t, m]));
      recent.reload();
    }
    if (ev.type === "message.status" && typeof d.messageId === "string" && typeof d.status === "string") {
      const status = statusWords.get(d.status);
      setThread((t) => t.map((m) => (m.id === d.messageId && status !== undefined ? { ...m, status, statusReason: typeof d.reason === "string" ? d.reason : m.statusReason } : m)));
    }
  });

  const chats: { id: string; last: Message }[] = [];
  for (const m of recent.data ?? []) if (!chats.some((c) => c.id === m.chatId)) chats.push({ id: m.chatId, last: m });
  if (chat && !chats.some((c) => c.id === chat)) chats.unshift({ id: chat, last: undefined as unknown as Message });

  const send = (content: SendMessageRequest["content"]) =>
    run(async () => {
      const { message } = await api.messages.sendMessage({ session: session!, to: chat!, content });
      if (message) setThread((t) => (t.some((x) => x.id === message.id) ? t : [...t, message]));
      setText("");
      if (file.current) file.current.value = "";
    });
  const sendFile = async (f: File) => {
    const data = new Uint8Array(await f.arrayBuffer());
    const value = { data, mimetype: f.type || "application/octet-stream", filename: f.name, ...(text.trim() && { caption: text.trim() }) };
    const kind = f.type.startsWith("image/") ? "image" : f.type.startsWith("video/") ? "video" : f.type.startsWith("audio/") ? "audio" : "document";
    await send({ case: kind, value } as SendMessageRequest["content"]);
  };

  return (
    <section aria-labelledby="chat-h">
      <h2 id="chat-h">Chat</h2>
      <SessionPicker session={session} />
      {session && (
        <div class="chat">
          <div>
            <h3 id="chats-h">Chats</h3>
            <form
              class="compose"
              aria-label="Start a chat"
              onSubmit={(e) => {
                e.preventDefault();
                if (newChat.trim()) setChat(newChat.trim().replace(/^\+/, "").replace(/[\s-]/g, "") + (newChat.includes("@") ? "" : "@s.whatsapp.net"));
                setNewChat("");
              }}
            >
              <label class="visually-hidden" for="new-chat">Phone number to message</label>
              <input id="new-chat" type="text" inputMode="tel" placeholder="+phone number" value={newChat} onInput={(e) => setNewChat(e.currentTarget.value)} />
              <button type="submit">Open</button>
            </form>
            <Status loaded={recent} empty="No messages yet." isEmpty={chats.length === 0}>
              <ul class="chats" aria-labelledby="chats-h">
                {chats.map((c) => (
                  <li key={c.id}>
                    <button type="button" data-chat={c.id} aria-pressed={c.id === chat} onClick={() => setChat(c.id)}>
                      <strong>{c.last?.contact?.pushName ?? c.id.replace(/@.*/, "")}</strong>
                      <br />
                      <span class="muted">{c.last ? summary(c.last).slice(0, 40) : "new chat"}</span>
                    </button>
                  </li>
                ))}
              </ul>
            </Status>
          </div>
          <div>
            <h3>{chat ? chat.replace(/@.*/, "") : "No chat open"}</h3>
            {chat && (
              <>
                <ErrorBox error={loadedThread.error} />
                <ul class="thread" id="thread" aria-live="polite" aria-label="Messages">
                  {loadedThread.loading && thread.length === 0 && <li class="loading">Loading…</li>}
                  {!loadedThread.loading && thread.length === 0 && <li class="empty">No messages in this chat yet.</li>}
                  {thread.map((m) => {
                    const out = m.direction === MessageDirection.OUT;
                    const word = messageWord(m.status);
                    return (
                      <li key={m.id} class={out ? "out" : "in"} data-id={m.id} data-direction={out ? "out" : "in"}>
                        <div class="body">{summary(m)}</div>
                        <small class="muted">
                          {when(m.createdAt)}
                          {out && (
                            <>
                              {" · "}
                              <span class={`badge ${word}`} data-status>{word}</span>
                              {m.statusReason && <> ({m.statusReason})</>}
                            </>
                          )}
                        </small>
                      </li>
                    );
                  })}
                  <li ref={endRef} aria-hidden="true" class="visually-hidden" />
                </ul>
                {!readOnly && (
                  <form
                    class="compose"
                    aria-label="Send a message"
                    onSubmit={(e) => {
                      e.preventDefault();
                      const f = file.current?.files?.[0];
                      if (f) void sendFile(f);
                      else if (text.trim()) void send({ case: "text", value: { body: text, linkPreview: false } } as SendMessageRequest["content"]);
                    }}
                  >
                    <label class="visually-hidden" for="compose-text">Message</label>
                    <input id="compose-text" type="text" placeholder="Message (caption with a file)" value={text} onInput={(e) => setText(e.currentTarget.value)} />
                    <label class="visually-hidden" for="compose-file">Attach a file</label>
                    <input id="compose-file" type="file" ref={file} />
                    <button class="primary" type="submit" id="send" disabled={busy}>
                      Send
                    </button>
                  </form>
                )}
                <ErrorBox error={error} />
              </>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
