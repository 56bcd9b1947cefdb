/** Reads a Server-Sent Events stream (the monitor's /api/events) into parsed events as they arrive. */
export interface SseEvent {
  type: string;
  data: unknown;
}

export interface SseReader {
  /** Every event received so far, in order. */
  readonly events: SseEvent[];
  close(): Promise<void>;
}

export async function openEventStream(url: string): Promise<SseReader> {
  const abort = new AbortController();
  const response = await fetch(url, { signal: abort.signal, headers: { accept: 'text/event-stream' } });
  if (response.status !== 200 || response.body === null) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  const events: SseEvent[] = [];
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        let type = 'message';
        let data: string | null = null;
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) type = line.slice(7);
          else if (line.startsWith('data: ')) data = (data === null ? '' : `${data}\n`) + line.slice(6);
        }
        if (data !== null) events.push({ type, data: JSON.parse(data) });
      }
    }
  })().catch((err: unknown) => {
    if (!abort.signal.aborted) throw err;
  });
  return {
    events,
    async close() {
      abort.abort();
      await pump;
    },
  };
}
