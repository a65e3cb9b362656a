import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,3})?(Z|[+-](\d{2}):(\d{2}))$/;

function parseDate(value: unknown): Date {
  const m = typeof value === 'string' ? ISO_UTC.exec(value) : null;
  if (!m) throw new GraphQLError('DateTime must be an ISO-8601 string such as 2026-01-26T14:30:22.000Z');
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offsetOk = m[8] === 'Z' || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
  // Date() would roll 2026-02-31 over to March 3rd: every field must be in range for its month.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59 || !offsetOk) {
    throw new GraphQLError(`"${value as string}" is not a valid date`);
  }
  const date = new Date(value as string);
  if (Number.isNaN(date.getTime())) throw new GraphQLError(`"${value as string}" is not a valid date`);
  return date;
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'ISO-8601 UTC with milliseconds, e.g. 2026-01-26T14:30:22.000Z',
  serialize(value) {
    if (value instanceof Date) return value.toISOString();
    throw new GraphQLError('DateTime cannot represent a non-date value');
  },
  parseValue: parseDate,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string');
    return parseDate(ast.value);
  },
});

/**
 * Any JSON value. Literal objects are built with defined own properties, so keys such as
 * `__proto__` stay plain data and never touch a prototype.
 */
function literalToJson(ast: ValueNode, variables: Record<string, unknown> | null | undefined): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT: {
      const n = Number(ast.value);
      if (!Number.isFinite(n)) throw new GraphQLError('JSON numbers must be finite');
      return n;
    }
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT: {
      const obj: Record<string, unknown> = {};
      for (const f of ast.fields) {
        Object.defineProperty(obj, f.name.value, { value: literalToJson(f.value, variables), enumerable: true, writable: true, configurable: true });
      }
      return obj;
    }
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      throw new GraphQLError('Not a JSON value');
  }
}

export const JsonScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => literalToJson(ast, variables),
});
