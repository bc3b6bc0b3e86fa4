import type { SeriesCatalogue } from './series-catalogue.js';
import type { SeriesRef } from './time-series-store.js';

/** The series lookups every store answers from the catalogue in the relational database. */
export abstract class CataloguedStore {
  constructor(protected readonly catalogue: SeriesCatalogue) {}

  series(site: string, device: string, metric: string): Promise<SeriesRef | undefined> {
    return this.catalogue.find(site, device, metric);
  }

  seriesOfSite(site: string, metric: string): Promise<SeriesRef[]> {
    return this.catalogue.ofSite(site, metric);
  }

  seriesById(ids: readonly number[]): Promise<SeriesRef[]> {
    return this.catalogue.byIds(ids);
  }

  timeZoneOf(site: string): Promise<string> {
    return this.catalogue.timeZoneOf(site);
  }
}
