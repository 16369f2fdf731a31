from services.identity.app import build
from shared.service import serve

serve(build())
