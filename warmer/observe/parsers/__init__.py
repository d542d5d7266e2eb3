"""Pure parsers over text: cache headers, Redis INFO, Memcached stats and metric selectors."""
