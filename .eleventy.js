// Eleventy configuration for the web archive. The archive is built by `buildSite` in src/render/archive.ts,
// which passes the records' view model as the global data `archive` and the base path as Eleventy's pathPrefix;
// the templates in templates/site/ only lay that model out.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HtmlBasePlugin } from '@11ty/eleventy';

// Folders are found from this file, not from the working directory, so builds work from anywhere.
const root = path.dirname(fileURLToPath(import.meta.url));

export default function (eleventyConfig) {
  // Root-relative links in templates ("/issues/x/") get the base path, so the site works under
  // https://user.github.io/repo/ as well as at a domain's root.
  eleventyConfig.addPlugin(HtmlBasePlugin);
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
