// Tests crash actors and nodes on purpose; their error logs are noise unless asked for (ACTORS_LOG=…).
process.env.ACTORS_LOG ??= 'silent';
