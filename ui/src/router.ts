import { useEffect, useState } from 'preact/hooks';

/** Hash routes (#/models/x): the server serves one index.html, and links work without it. */
export interface Route {
  path: string[];
  params: URLSearchParams;
}

function parse(): Route {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = raw.split('?', 2);
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const onChange = () => setRoute(parse());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function href(path: (string | number)[], params: Record<string, string> = {}): string {
  const q = new URLSearchParams(params).toString();
  return `#/${path.map((p) => encodeURIComponent(String(p))).join('/')}${q ? `?${q}` : ''}`;
}

export function go(path: (string | number)[], params: Record<string, string> = {}): void {
  location.hash = href(path, params);
}

/** The page size a list shows: `?first=N` in the hash (1-100), else 20. */
export function pageSize(params: URLSearchParams): number {
  const n = Number(params.get('first'));
  return Number.isInteger(n) && n >= 1 && n <= 100 ? n : 20;
}
