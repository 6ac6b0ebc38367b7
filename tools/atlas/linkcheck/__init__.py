"""Check the catalog's URLs and the built site's links: `atlas linkcheck`.

A maintainer must be able to trust the verdict in both directions: every dead link is
found (missing fragments, redirects to a 404, a host that stopped resolving) and nothing
alive is reported as dead (a 403 bot wall is ``blocked``, a 429 is ``rate_limited``, a
flaky host can be required to fail on several runs before it counts); a page that moved
for good is ``moved``, and ``--fix`` rewrites the entry.

The modules, each depending only on those above it:

- ``model``: links, verdicts (worst first) and results; ``options``: a run's settings;
- ``urls``: one spelling per address, fragments; ``moves``: which redirects are moves;
- ``pages``: files read, HTML reduced to anchors and links;
- ``site_check``: internal links of a built site, on disk; ``inputs``: what is checked;
- ``scheduler``: the per-host and global limits; ``http``: one exchange on the wire;
- ``cache``: memory between runs; ``fetch``: retries, redirects, a verdict per URL;
- ``run``: every link under one deadline, then the policies;
- ``report``: text, JSON and Markdown (it reads ``model`` only); ``fix``: ``--fix``;
- ``command``: the command line.
"""
