# One image for the collector and every demo service (docker-compose.yml picks the command).
FROM node:20-bookworm-slim
WORKDIR /app
COPY . .
# `npm ci` runs the root `prepare`: it builds the dashboard and the instrumentation.
RUN npm ci --no-audit --no-fund && npm cache clean --force
ENV NODE_ENV=production
