/** SHA-256 of bytes, lowercase hex (WebCrypto: the same in Node and the browser). Its own module so the page can hash audio without loading the model code. */
export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', data as BufferSource);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
