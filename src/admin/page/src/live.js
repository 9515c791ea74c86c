// The page's two event streams (Server-Sent Events, WHATWG HTML 9.2):
// /api/live (event: history, then event: snapshot once a second; ids
// "<boot>-<seq>", so a reconnect sends Last-Event-ID and gets only what it
// missed) and /api/events (event: rpc per finished call, event: finding;
// docs/metrics.md).
//
// EventSource reconnects by itself after a network error (the server's
// `retry: 2000`), but gives up for good on an HTTP error status (say 503:
// too many subscribers) or a wrong content type: then a new one is made
// after a pause (2 s, doubling up to 10 s). With `silenceMs`, a stream that says nothing for that long
// (/api/live sends a snapshot every second) is taken as dead and reopened.

const RETRY_MS = 2000;

// handlers: { onEvent(name, data, lastEventId), onState("connecting"|"open"|"disconnected") }
// events: the event names to listen to. Returns { close() }.
export function openStream(url, events, handlers, silenceMs = 0) {
  let es = null;
  let watchdog = null;
  let retry = null;
  let closed = false;
  let delay = RETRY_MS;

  function arm() {
    clearTimeout(watchdog);
    if (!silenceMs) return;
    watchdog = setTimeout(() => {
      // Silent for too long: the server hung or a middlebox dropped the stream.
      if (handlers.onState) handlers.onState("disconnected");
      reopen();
    }, silenceMs);
  }

  function reopen() {
    if (es) es.close();
    es = null;
    clearTimeout(watchdog);
    clearTimeout(retry);
    if (closed) return;
    retry = setTimeout(open, delay);
    delay = Math.min(delay * 2, 10000);
  }

  function open() {
    if (closed) return;
    es = new EventSource(url);
    if (handlers.onState) handlers.onState("connecting");
    es.onopen = () => {
      delay = RETRY_MS;
      if (handlers.onState) handlers.onState("open");
      arm();
    };
    es.onerror = () => {
      if (handlers.onState) handlers.onState("disconnected");
      // CONNECTING: the browser retries by itself (every `retry` ms), and
      // the silence watchdog must not add a longer pause of its own.
      clearTimeout(watchdog);
      if (es && es.readyState === EventSource.CLOSED) reopen();
    };
    // Comments (": keep-alive") do not reach script; any event does.
    es.onmessage = () => arm();
    for (const name of events) {
      es.addEventListener(name, (e) => {
        arm();
        let data;
        try {
          data = JSON.parse(e.data);
        } catch (err) {
          console.warn(`grpcscope: ${url}: event ${name} is not JSON`, err);
          return;
        }
        handlers.onEvent(name, data, e.lastEventId);
      });
    }
  }

  open();
  return {
    close() {
      closed = true;
      clearTimeout(watchdog);
      clearTimeout(retry);
      if (es) es.close();
    },
  };
}
