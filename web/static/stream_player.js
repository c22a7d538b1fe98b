// Plays a WAV that is still growing (a long line streamed while it renders: "play" frames with streaming: true).
// An <audio> element waits for ~5 s of such a stream before it starts (Chromium's demuxer probes that much when
// the length is unknown), so this reads the response as it arrives and schedules each block of 16-bit mono PCM
// with the Web Audio API: the first sentence is heard as soon as it exists. Falls back to nothing: the caller
// uses <audio> when this cannot start (no AudioContext, autoplay refused).

const HEADER_BYTES = 44;
const LEAD_S = 0.05; // scheduling margin: a block is queued this far ahead of "now"

export class StreamPlayer {
  constructor() {
    this.context = null;
    this.reset();
  }

  reset() {
    this.abort?.abort();
    for (const node of this.nodes || []) {
      node.onended = null;
      try {
        node.stop();
      } catch {
        // never started
      }
    }
    this.abort = null;
    this.nodes = [];
    this.segments = []; // [context time, media time] where each block starts: currentTime across underruns
    this.nextAt = 0;
    this.media = 0;
    this.done = false;
    this.playing = false;
    this.onended = null;
  }

  /** Seconds of the line heard so far (like <audio>.currentTime). */
  get currentTime() {
    if (!this.context || this.segments.length === 0) return 0;
    const now = this.context.currentTime;
    let position = 0;
    for (const [at, media, length] of this.segments) {
      if (at > now) break;
      position = media + Math.min(now - at, length);
    }
    return position;
  }

  /** Start streaming ``url``: resolves once the response has started (rejects if it cannot play at all).
   * ``onended``: the last sample was heard; ``ondone``: the whole line has arrived; ``onfirst``: first samples. */
  async play(url, { onended, onfirst, ondone } = {}) {
    this.reset();
    this.onended = onended;
    const AudioContextClass = window.AudioContext || window.webkitAudioContext;
    if (!AudioContextClass) throw new Error("no Web Audio");
    if (!this.context) this.context = new AudioContextClass();
    if (this.context.state !== "running") await this.context.resume();
    if (this.context.state !== "running") throw new Error("audio context not allowed to start");
    const abort = new AbortController();
    this.abort = abort;
    const response = await fetch(url, { cache: "no-store", credentials: "same-origin", signal: abort.signal });
    if (!response.ok || !response.body) throw new Error(`audio ${response.status}`);
    const reader = response.body.getReader();
    this.playing = true;
    let header = new Uint8Array(0);
    let sampleRate = 24000;
    let carry = null; // an odd byte left between two reads
    let first = true;
    const pump = async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (abort.signal.aborted) return;
        if (done) break;
        let bytes = value;
        if (header.length < HEADER_BYTES) {
          const need = HEADER_BYTES - header.length;
          header = concat(header, bytes.subarray(0, need));
          bytes = bytes.subarray(need);
          if (header.length === HEADER_BYTES) sampleRate = new DataView(header.buffer).getUint32(24, true);
        }
        if (carry) {
          bytes = concat(carry, bytes);
          carry = null;
        }
        if (bytes.length % 2) {
          carry = bytes.slice(bytes.length - 1);
          bytes = bytes.subarray(0, bytes.length - 1);
        }
        if (bytes.length) {
          this.schedule(bytes, sampleRate);
          if (first) {
            first = false;
            onfirst?.();
          }
        }
      }
      this.done = true;
      this.finishIfDrained();
    };
    pump()
      .then(() => {
        if (!abort.signal.aborted) ondone?.();
      })
      .catch((error) => {
        if (!abort.signal.aborted) {
          console.warn("StreamVoice stream ended early", error);
          this.done = true;
          this.finishIfDrained();
        }
      });
  }

  schedule(bytes, sampleRate) {
    const samples = bytes.length / 2;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const buffer = this.context.createBuffer(1, samples, sampleRate);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < samples; i += 1) channel[i] = view.getInt16(i * 2, true) / 32768;
    const node = this.context.createBufferSource();
    node.buffer = buffer;
    node.connect(this.context.destination);
    const at = Math.max(this.nextAt, this.context.currentTime + LEAD_S);
    node.start(at);
    this.segments.push([at, this.media, buffer.duration]);
    this.media += buffer.duration;
    this.nextAt = at + buffer.duration;
    this.nodes.push(node);
    node.onended = () => {
      this.nodes = this.nodes.filter((n) => n !== node);
      this.finishIfDrained();
    };
  }

  finishIfDrained() {
    if (!this.done || !this.playing || this.nodes.length > 0) return;
    this.playing = false;
    const onended = this.onended;
    this.onended = null;
    onended?.();
  }

  stop() {
    this.reset();
  }
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
