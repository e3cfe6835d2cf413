// What Google Drive's web pages say when it answers a download with a page instead of the file.
//
// A file too large for Drive's virus scan gets a "can't scan this file for viruses" page whose
// "Download anyway" button submits a GET form (id="download-form", hidden inputs id, export,
// confirm, uuid, ...); older pages carry a /uc?export=download&confirm=... link, a "downloadUrl"
// in inline JSON, or a download_warning cookie whose value is the confirm token. A page with none
// of these is an error page (quota exceeded, not shared, signed out); its caption says why.
// Only attributes and text are read here; nothing in a page is run.

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Decodes the HTML character references a Drive page uses in attribute values and text. */
export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, ref: string) => {
    if (ref[0] === '#') {
      const code = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref.toLowerCase()] ?? whole;
  });
}

/** The attributes of one start tag's inside (`name="v"`, `name='v'`, `name=v`, bare `name`). */
export function attributes(tagInside: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of tagInside.matchAll(/([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g)) {
    const name = m[1].toLowerCase();
    if (!out.has(name)) out.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ''));
  }
  return out;
}

/** Text of a fragment with its tags removed, entities decoded and white space collapsed. */
function text(fragment: string): string {
  return decodeEntities(fragment.replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
}

const httpUrl = (u: URL | null) => (u && (u.protocol === 'https:' || u.protocol === 'http:') ? u : null);

function resolve(href: string, base: string): URL | null {
  try {
    return httpUrl(new URL(href, base));
  } catch {
    return null;
  }
}

/** The download form's target: its action with every hidden input as a query parameter (a GET form submitted). */
function formTarget(html: string, pageUrl: string): URL | null {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)].map((m) => ({
    attrs: attributes(m[1]),
    body: m[2],
  }));
  const hidden = (body: string) =>
    [...body.matchAll(/<input\b([^>]*)>/gi)]
      .map((m) => attributes(m[1]))
      .filter((a) => (a.get('type') ?? '').toLowerCase() === 'hidden' && a.get('name'));
  // the form Drive names; failing that, any form that carries a confirm token
  const form =
    forms.find((f) => f.attrs.get('id') === 'download-form') ??
    forms.find((f) => hidden(f.body).some((a) => a.get('name') === 'confirm'));
  if (!form) return null;
  if ((form.attrs.get('method') ?? 'get').toLowerCase() !== 'get') return null;
  const target = resolve(form.attrs.get('action') || pageUrl, pageUrl);
  if (!target) return null;
  for (const a of hidden(form.body)) target.searchParams.set(a.get('name')!, a.get('value') ?? '');
  return target;
}

/**
 * Where the confirmation page's "Download anyway" leads, or null when the page offers no way on.
 * `cookies` are those the page came with (a download_warning cookie holds the confirm token).
 */
export function confirmationTarget(
  html: string,
  pageUrl: string,
  cookies: Map<string, string> = new Map(),
): URL | null {
  const form = formTarget(html, pageUrl);
  if (form) return form;
  const link = html.match(/href\s*=\s*"([^"]*\/uc\?export=download[^"]*)"/i);
  if (link) {
    const u = resolve(decodeEntities(link[1]), pageUrl);
    if (u) return u;
  }
  const json = html.match(/"downloadUrl"\s*:\s*"((?:[^"\\]|\\.)*)"/);
  if (json) {
    try {
      const u = resolve(JSON.parse(`"${json[1]}"`) as string, pageUrl);
      if (u) return u;
    } catch {
      // not a JSON string after all: no link there
    }
  }
  for (const [name, value] of cookies) {
    if (name.startsWith('download_warning') && value) {
      const u = new URL(pageUrl);
      u.searchParams.set('confirm', value);
      return u;
    }
  }
  return null;
}

/** Why a page that is not a confirmation page was sent, in Drive's words: its error caption, else its title. */
export function pageReason(html: string): string | null {
  const pick = (re: RegExp) => {
    const m = html.match(re);
    const t = m ? text(m[m.length - 1]) : '';
    return t || null;
  };
  // the element's whole content, up to the closing tag of its own name (a caption may hold a link)
  const byClass = (cls: string) =>
    pick(new RegExp(`<([a-z0-9]+)\\b[^>]*class\\s*=\\s*"[^"]*\\b${cls}\\b[^"]*"[^>]*>([\\s\\S]*?)</\\1\\s*>`, 'i'));
  const reason =
    [byClass('uc-error-caption'), byClass('uc-error-subcaption')].filter(Boolean).join(' ') ||
    pick(/<title[^>]*>([\s\S]*?)<\/title>/i);
  return reason ? (reason.length > 300 ? `${reason.slice(0, 297)}...` : reason) : null;
}
