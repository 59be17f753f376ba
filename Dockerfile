# One image for the collector and every demo service (docker-compose.yml picks the command).
FROM node:20-bookworm-slim
WORKDIR /app
# The manifests first: the dependencies are installed again only when one of them changes.
COPY package.json package-lock.json ./
COPY test-support/package.json test-support/
COPY embedded-kafka/package.json embedded-kafka/
COPY instrumentation/package.json instrumentation/
COPY collector/package.json collector/
COPY dashboard/package.json dashboard/
COPY examples/package.json examples/
COPY bench/package.json bench/
RUN npm ci --no-audit --no-fund --ignore-scripts && npm cache clean --force
COPY . .
# What `npm ci` would have run: build the instrumentation and the dashboard.
RUN npm run prepare
ENV NODE_ENV=production
