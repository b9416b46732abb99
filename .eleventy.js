// Eleventy configuration for the web archive. The archive is built by `buildSite` in src/render/archive.ts,
// which passes the records' view model as the global data `archive` and the base path as Eleventy's pathPrefix;
// the templates in templates/site/ only lay that model out.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Folders are found from this file, not from the working directory, so builds work from anywhere.
const root = path.dirname(fileURLToPath(import.meta.url));

export default function (eleventyConfig) {
  // Every internal link in the templates goes through Eleventy's `url` filter, which adds the pathPrefix
  // (config.site.basePath, passed by buildSite) so the site works under https://user.github.io/repo/ too.
  // We do not use HtmlBasePlugin: re-parsing every page to rewrite links was 40% of a 500-issue build.
  // Every {{ value }} is HTML-escaped; only feed text built (and escaped) in archive.ts is marked safe.
  eleventyConfig.setNunjucksEnvironmentOptions({ autoescape: true, throwOnUndefined: false, trimBlocks: true, lstripBlocks: true });
  eleventyConfig.setQuietMode(true);
  return {
    dir: { input: path.join(root, 'templates', 'site'), includes: '_includes', data: '_data' },
    templateFormats: ['njk'],
    htmlTemplateEngine: 'njk',
    markdownTemplateEngine: false,
  };
}
