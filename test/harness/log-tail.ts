/** The last lines of a text stream, split on newlines; older lines are dropped. */
export class LogTail {
  readonly #limit: number;
  readonly #onLine: (line: string) => void;
  readonly #lines: string[] = [];
  #partial = "";

  /**
   * @param limit how many complete lines to keep; default 200.
   * @param onLine called with each complete line as it arrives.
   */
  constructor(limit = 200, onLine: (line: string) => void = () => {}) {
    this.#limit = limit;
    this.#onLine = onLine;
  }

  /** Appends a chunk; a trailing line without newline is held until it completes. */
  push(chunk: string): void {
    const parts = (this.#partial + chunk).split("\n");
    this.#partial = parts.pop() ?? "";
    for (const line of parts) {
      if (line === "") continue;
      this.#lines.push(line);
      this.#onLine(line);
    }
    if (this.#lines.length > this.#limit) this.#lines.splice(0, this.#lines.length - this.#limit);
  }

  /** Adds a marker line (e.g. "start 2"), ending any incomplete line first. */
  mark(text: string): void {
    this.push(`${this.#partial === "" ? "" : "\n"}--- ${text} ---\n`);
  }

  /** The kept lines, oldest first, including an incomplete last line. */
  lines(): string[] {
    return this.#partial === "" ? [...this.#lines] : [...this.#lines, this.#partial];
  }
}
