/**
 * A strict JSON parser: like `JSON.parse`, but an object that names the same key twice is an
 * error instead of silently keeping the last value. That is how Elasticsearch and other strict
 * log pipelines treat such a line, so the tests hold every log line to it.
 */
export function parseStrictJson(text: string): unknown {
  const parser = new StrictParser(text);
  const value = parser.value();
  parser.end();
  return value;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

class StrictParser {
  private at = 0;

  constructor(private readonly text: string) {}

  value(): unknown {
    this.skipWhitespace();
    const c = this.text[this.at];
    if (c === "{") return this.object();
    if (c === "[") return this.array();
    if (c === '"') return this.string();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = this.at;
    const number = NUMBER.exec(this.text);
    if (number) {
      this.at += number[0].length;
      return Number(number[0]);
    }
    throw this.error("unexpected character");
  }

  end(): void {
    this.skipWhitespace();
    if (this.at !== this.text.length) throw this.error("text after the JSON value");
  }

  private object(): Record<string, unknown> {
    this.at++; // {
    const result: Record<string, unknown> = {};
    const seen = new Set<string>();
    this.skipWhitespace();
    if (this.text[this.at] === "}") {
      this.at++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.at] !== '"') throw this.error("expected a key");
      const keyAt = this.at;
      const key = this.string();
      // Keys compare decoded: "a" and "\u0061" are the same key.
      if (seen.has(key)) throw this.error(`duplicate key ${JSON.stringify(key)}`, keyAt);
      seen.add(key);
      this.skipWhitespace();
      this.expect(":");
      Object.defineProperty(result, key, {
        value: this.value(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skipWhitespace();
      if (this.text[this.at] === ",") {
        this.at++;
        continue;
      }
      this.expect("}");
      return result;
    }
  }

  private array(): unknown[] {
    this.at++; // [
    const result: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.at] === "]") {
      this.at++;
      return result;
    }
    for (;;) {
      result.push(this.value());
      this.skipWhitespace();
      if (this.text[this.at] === ",") {
        this.at++;
        continue;
      }
      this.expect("]");
      return result;
    }
  }

  private string(): string {
    const start = this.at;
    this.at++; // opening quote
    while (this.at < this.text.length && this.text[this.at] !== '"') {
      this.at += this.text[this.at] === "\\" ? 2 : 1;
    }
    if (this.at >= this.text.length) throw this.error("unterminated string", start);
    this.at++; // closing quote
    // JSON.parse decodes escapes and rejects control characters and bad escapes.
    return JSON.parse(this.text.slice(start, this.at)) as string;
  }

  private expect(c: string): void {
    if (this.text[this.at] !== c) throw this.error(`expected "${c}"`);
    this.at++;
  }

  private skipWhitespace(): void {
    WHITESPACE.lastIndex = this.at;
    this.at += (WHITESPACE.exec(this.text) as RegExpExecArray)[0].length;
  }

  private error(message: string, at = this.at): SyntaxError {
    return new SyntaxError(`${message} at position ${at}`);
  }
}
