/**
 * Cursor paging over a live query: page n listens to `limit` documents after the last
 * document of page n-1. The stack holds those cursors, so "previous" is exact and no page ever
 * reads more than `limit` (+1 to know whether a next page exists) documents, however long the
 * history.
 */
export interface PageState<C> {
  /** cursors[i] is where page i starts (undefined for the first page). */
  cursors: (C | undefined)[];
}

export function firstPage<C>(): PageState<C> {
  return { cursors: [undefined] };
}

export function pageIndex<C>(state: PageState<C>): number {
  return state.cursors.length - 1;
}

export function currentCursor<C>(state: PageState<C>): C | undefined {
  return state.cursors[state.cursors.length - 1];
}

export function nextPage<C>(state: PageState<C>, lastOfPage: C): PageState<C> {
  return { cursors: [...state.cursors, lastOfPage] };
}

export function previousPage<C>(state: PageState<C>): PageState<C> {
  return state.cursors.length <= 1 ? state : { cursors: state.cursors.slice(0, -1) };
}

/** A page fetched with limit + 1: the extra document only says that a next page exists. */
export function splitPage<T>(docs: T[], limit: number): { items: T[]; hasMore: boolean } {
  return { items: docs.slice(0, limit), hasMore: docs.length > limit };
}
