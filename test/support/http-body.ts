/** A response body as the tests read it: parsed JSON, undefined when empty, else the raw text (e.g. /metrics). */
export async function jsonOrText(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}
