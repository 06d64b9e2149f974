/**
 * A parameterised SQL statement: text with $n placeholders and its values.
 * Built only by the `sql` tag, so a value can never be spliced into the text.
 */
export interface SqlQuery {
  readonly text: string;
  readonly values: readonly unknown[];
  readonly [brand]: true;
}

declare const brand: unique symbol;

/** A value sent as JSON; the statement casts its placeholder, e.g. `${json(x)}::jsonb`. */
export class JsonParam {
  readonly text: string;
  constructor(value: unknown) {
    this.text = JSON.stringify(value ?? null);
  }
}

/** Marks a value to be sent as JSON text (cast it with `::jsonb` in the statement). */
export function json(value: unknown): JsonParam {
  return new JsonParam(value);
}

function isQuery(value: unknown): value is SqlQuery {
  return (
    typeof value === "object" && value !== null && "text" in value && "values" in value && !(value instanceof JsonParam)
  );
}

/**
 * Tagged template for statements. Interpolated values become $n parameters; an interpolated
 * `sql` fragment is inlined with its parameters renumbered, which is how optional filters compose.
 *
 * @example
 * const byType = type ? sql`AND type = ${type}` : sql``;
 * await db.query(sql`SELECT id FROM kronos_jobs WHERE state = 'pending' ${byType}`);
 */
export function sql(strings: TemplateStringsArray, ...args: unknown[]): SqlQuery {
  let text = strings[0] ?? "";
  const values: unknown[] = [];
  args.forEach((arg, i) => {
    if (isQuery(arg)) {
      const offset = values.length;
      text += arg.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
      values.push(...arg.values);
    } else {
      // JSON goes over the wire as text (the statement casts it), so drivers never re-encode it.
      values.push(arg instanceof JsonParam ? arg.text : arg);
      text += arg instanceof JsonParam ? `$${values.length}::text` : `$${values.length}`;
    }
    text += strings[i + 1] ?? "";
  });
  return { text, values } as unknown as SqlQuery;
}

/** Joins fragments with a separator (for lists of conditions). */
export function joinSql(parts: readonly SqlQuery[], separator: string): SqlQuery {
  if (parts.length === 0) return sql``;
  const strings = ["", ...parts.slice(1).map(() => separator), ""];
  return sql(Object.assign(strings, { raw: strings }) as unknown as TemplateStringsArray, ...parts);
}

/** Wraps fixed text that has no parameters (migration statements read from our own files). */
export function staticSql(text: string): SqlQuery {
  return { text, values: [] } as unknown as SqlQuery;
}
