from services.engagement.app import build
from shared.service import serve

serve(build())
