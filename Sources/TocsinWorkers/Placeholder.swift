// TocsinWorkers
