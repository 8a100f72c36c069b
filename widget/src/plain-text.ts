/**
 * What a screen reader should hear of a markdown reply (the status region announces it once):
 * the words, without the syntax a speech synthesizer would read out as "star star" or "backtick".
 * Links keep their text, not their address; list markers, heading and quote marks, table rules
 * and emphasis or code marks go. A best effort for speech only: the log shows the rendered reply.
 */
export const plainText = (md: string): string =>
  md
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^[ \t]*((#{1,6}|[-*+]|\d+[.)])(?=[ \t])|>|[|: \t-]+$)[ \t]*/gm, '')
    .replace(/[*`~|]+/g, '');
